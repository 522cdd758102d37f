// Command step is smallstep's CLI 0.15.16 as Debian bookworm packages its sources, built by
// tests/step/build.sh. Upstream's cmd/step/main.go, less profiling, cloudcas (not packaged) and
// the markdown help renderer (it panics with Debian's blackfriday v2; help is printed plain).
package main

import (
	"fmt"
	"math/rand"
	"os"
	"time"

	"github.com/smallstep/certificates/ca"
	"github.com/smallstep/cli/command"
	"github.com/smallstep/cli/command/version"
	"github.com/smallstep/cli/config"
	"github.com/smallstep/cli/errs"
	"github.com/urfave/cli"

	_ "github.com/smallstep/certificates/cas/softcas"
	_ "github.com/smallstep/cli/command/base64"
	_ "github.com/smallstep/cli/command/ca"
	_ "github.com/smallstep/cli/command/certificate"
	_ "github.com/smallstep/cli/command/crypto"
	_ "github.com/smallstep/cli/command/fileserver"
	_ "github.com/smallstep/cli/command/oauth"
	_ "github.com/smallstep/cli/command/path"
	_ "github.com/smallstep/cli/command/ssh"
)

func main() {
	config.Set("Smallstep CLI", "0.15.16+ds (Debian bookworm)", "N/A")
	ca.UserAgent = config.Version()
	rand.Seed(time.Now().UnixNano())
	cli.VersionPrinter = func(c *cli.Context) { _ = version.Command(c) }

	app := cli.NewApp()
	app.Name = "step"
	app.HelpName = "step"
	app.Usage = "plumbing for distributed systems"
	app.Version = config.Version()
	app.Commands = command.Retrieve()
	app.Flags = append(app.Flags, cli.HelpFlag, cli.StringFlag{
		Name:  "config",
		Usage: "path to the config file to use for CLI flags",
	})
	app.Writer = os.Stdout
	app.ErrWriter = os.Stderr

	if err := app.Run(os.Args); err != nil {
		// As upstream prints errors, so messages match step 0.15.16's.
		debug := os.Getenv("STEPDEBUG") == "1"
		if fe, ok := err.(errs.FriendlyError); ok {
			if debug {
				fmt.Fprintf(os.Stderr, "%+v\n\n%s", err, fe.Message())
			} else {
				fmt.Fprintln(os.Stderr, fe.Message())
				fmt.Fprintln(os.Stderr, "Re-run with STEPDEBUG=1 for more info.")
			}
		} else if debug {
			fmt.Fprintf(os.Stderr, "%+v\n", err)
		} else {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}
}
