package config

import (
	"os"
)

// DefaultLedger is the ledger of the embedded default and of a config file that names
// none: a SQLite file in the process's working directory.
const DefaultLedger = "sqlite:switchyard-ledger.db"

// Ledger returns the ledger URL that `switchyard serve` would use with the config file at
// path, or with the embedded default when path is empty: metering.ledger_env's value when
// set, else metering.ledger, else DefaultLedger. The file is decoded as strictly as Load
// does, but only the metering section is resolved, so the keys and secrets that other
// sections name need not be set (an export runs where the gateway's secrets are not).
// The result may be "none".
func Ledger(path string, getenv func(string) string) (string, error) {
	if path == "" {
		return DefaultLedger, nil
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	c, root, err := decode(path, data)
	if err != nil {
		return "", err
	}
	if errs := c.resolveLedger(getenv, root); len(errs) > 0 {
		return "", errs
	}
	return c.Metering.Ledger, nil
}
