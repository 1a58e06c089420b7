from gaia_runner.cli.app import main

main()
