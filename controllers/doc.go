// Package controllers holds the Fault reconciler: it fixes a Fault's target
// pods, refuses what the safety guards forbid, writes one FaultInjection per
// node for the node agents, removes them at the deadline or on deletion, and
// rolls the agents' reports up into the Fault's status.
package controllers
