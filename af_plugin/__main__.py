from af_plugin.cli import main

raise SystemExit(main())
