from inbound.cli import main

raise SystemExit(main())
