import KeylakeCLI

await DaemonCommand.main(as: .fhird)
