"""`python -m cli ...`: the `onboarding` command."""

from cli.main import main

main()
