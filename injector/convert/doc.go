// Package convert turns a FaultInjection's API action into the injector
// packages' configurations: probabilities from "30.5" percent strings to
// basis points, port ranges, peer CIDRs and errno names.
package convert
