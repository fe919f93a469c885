"""The sync core: plan (pure), guards, apply and the engine that runs one sync."""
