"""Settings every test shares.

pytest-xdist starts its workers with COLUMNS=80 in the environment. A rich Console created
while COLUMNS is set keeps that width for good, so the CLI's consoles (created once, at import)
would ignore the width each CLI test asks for with CliRunner(env={"COLUMNS": ...}). Without
the variable, they read the width again for every print, as they do outside pytest.
"""

import os

os.environ.pop("COLUMNS", None)
