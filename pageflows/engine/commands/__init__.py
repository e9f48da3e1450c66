"""One module per `pageflows` subcommand."""
