import KeylakeCLI

await DaemonCommand.main(as: .kmsd)
