from reactor_ci.cli import main

raise SystemExit(main())
