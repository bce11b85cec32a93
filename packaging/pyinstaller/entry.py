"""Entry script PyInstaller freezes: the bundle's executable is exactly the `kling-studio` command."""

import sys

from kling_studio.cli import main

if __name__ == "__main__":
    sys.exit(main())
