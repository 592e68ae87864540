import KeylakeCLI

await KeylakeCommand.runFromCommandLine()
