"""The Kopf operator: the only package that imports kopf."""
