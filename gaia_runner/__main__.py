from gaia_runner.cli import main

main()
