import sys

from portal import create_app
from portal.core.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    sys.stderr.write(f"Error: {exc}\n")
    sys.exit(2)
