package network

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-logr/logr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/temblor-dev/temblor/injector/netns"
)

// netlinkRoute is the only netlink family the package needs.
const netlinkRoute = unix.NETLINK_ROUTE

// CleanupLegacy removes the Temblor-marked cls_bpf filters that a dead
// process left in the network namespace at nsPath, and each clsact qdisc that
// Temblor created once no filter is left on it. tcx and XDP links need no
// cleanup: the kernel removed them with their process.
//
// Call it when no live Attachment uses netlink tc in that namespace, as the
// node agent does at start-up: it cannot tell a live process's filters from
// a dead one's.
func CleanupLegacy(ctx context.Context, nsPath string) error {
	log := logr.FromContextOrDiscard(ctx)
	return netns.Do(nsPath, func() error {
		nl, err := netlink.NewHandle(netlinkRoute)
		if err != nil {
			return fmt.Errorf("cleanup legacy tc in %s: open netlink: %w", nsPath, err)
		}
		defer nl.Close()
		links, err := nl.LinkList()
		if err != nil {
			return fmt.Errorf("cleanup legacy tc in %s: list interfaces: %w", nsPath, err)
		}
		var errs []error
		for _, l := range links {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := cleanupLink(nl, l)
			if n > 0 {
				log.Info("Removed leftover tc filters", "netns", nsPath, "interface", l.Attrs().Name, "filters", n)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("cleanup legacy tc on %s: %w", l.Attrs().Name, err))
			}
		}
		return errors.Join(errs...)
	})
}

// cleanupLink removes Temblor's filters from one interface and returns how
// many it removed.
func cleanupLink(nl *netlink.Handle, l netlink.Link) (int, error) {
	have, err := findClsact(nl, l)
	if err != nil || !have {
		return 0, nil // no clsact: nothing of ours can be there
	}
	removed, ownsQdisc := 0, false
	for _, p := range clsactParents() {
		filters, err := nl.FilterList(l, p)
		if err != nil {
			return removed, fmt.Errorf("list tc filters: %w", err)
		}
		for _, f := range filters {
			bf, ours := isOurFilter(f)
			if !ours {
				continue
			}
			if err := nl.FilterDel(bf); err != nil && !errors.Is(err, unix.ENOENT) {
				return removed, fmt.Errorf("delete tc filter %s: %w", bf.Name, err)
			}
			removed++
			ownsQdisc = ownsQdisc || strings.HasSuffix(bf.Name, legacyOwnerSuffix)
		}
	}
	if !ownsQdisc {
		return removed, nil
	}
	return removed, removeClsactIfEmpty(nl, l.Attrs().Index)
}
