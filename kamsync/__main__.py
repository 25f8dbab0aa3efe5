from kamsync.cli import main

main()
