// Command step-ca is smallstep's certificates 0.19.0 server as Debian bookworm packages its
// sources, built by tests/step/build.sh. Like upstream's cmd/step-ca/main.go, the serve action
// runs as a cli.Command, so flags after the configuration path (`step-ca ca.json
// --password-file F`) parse; softcas and stepcas are the enabled CA services, softkms the KMS.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/smallstep/certificates/commands"
	"github.com/urfave/cli"
	"go.step.sm/cli-utils/command"
	"go.step.sm/cli-utils/step"

	_ "github.com/smallstep/certificates/cas/softcas"
	_ "github.com/smallstep/certificates/cas/stepcas"
	_ "go.step.sm/cli-utils/command/version"
)

func main() {
	step.Set("Smallstep CA", "0.19.0 (Debian bookworm)", "N/A")

	app := cli.NewApp()
	app.Name = "step-ca"
	app.HelpName = "step-ca"
	app.Version = step.Version()
	app.Usage = "an online certificate authority for secure automated certificate management"
	app.UsageText = commands.AppCommand.UsageText
	app.Flags = append(commands.AppCommand.Flags, cli.HelpFlag)
	app.Commands = command.Retrieve() // help, onboard, export, version
	app.Writer = os.Stdout
	app.ErrWriter = os.Stderr
	app.Action = func(_ *cli.Context) error {
		// cli.Command.Run reorders flags before arguments, which App.Run does not do.
		set := flag.NewFlagSet(app.Name, flag.ContinueOnError)
		_ = set.Parse(os.Args) // os.Args[0] is not a flag: everything stays an argument
		return commands.AppCommand.Run(cli.NewContext(app, set, nil))
	}

	if err := app.Run(os.Args); err != nil {
		if os.Getenv("STEPDEBUG") == "1" {
			fmt.Fprintf(os.Stderr, "%+v\n", err)
		} else {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}
}
