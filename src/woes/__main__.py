from woes.cli import main
import sys

sys.exit(main())
