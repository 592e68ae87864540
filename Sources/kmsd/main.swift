import KeylakeCLI

await KMSDCommand.runFromCommandLine()
