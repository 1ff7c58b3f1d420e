"""`python -m bot` runs the `yiqiban` CLI."""

from bot.cli import main

raise SystemExit(main())
