import sys

from woes.cli import main

sys.exit(main())
