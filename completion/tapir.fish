# SPDX-License-Identifier: MIT
# fish completion for tapir(8). Installed as fish/vendor_completions.d/tapir.fish; load it by
# hand with `source completion/tapir.fish`. Offers what completion/tapir.bash offers:
# interface names from the UAPI sockets in /var/run/wireguard (and, for down, the state files
# of tapir up in /var/run/tapir), config names from /etc/tapir and /etc/wireguard, TUN/TAP
# devices from /sys/class/net/*/tun_flags.

function __tapir_interfaces
    for f in /var/run/wireguard/*.sock
        test -S $f; and string replace -r '^.*/(.*)\.sock$' '$1' -- $f
    end
end

function __tapir_up_interfaces
    begin
        for f in /var/run/tapir/*.state
            string replace -r '^.*/(.*)\.state$' '$1' -- $f
        end
        __tapir_interfaces
    end | sort -u
end

function __tapir_config_names
    for f in /etc/tapir/*.conf /etc/wireguard/*.conf
        string replace -r '^.*/(.*)\.conf$' '$1' -- $f
    end | sort -u
end

function __tapir_tuntap_devices
    for f in /sys/class/net/*/tun_flags
        string replace -r '^/sys/class/net/([^/]*)/tun_flags$' '$1' -- $f
    end
end

# The words before the cursor after "tapir" that are not options: the subcommand first.
function __tapir_args
    set -l tokens (commandline -opc)
    for t in $tokens[2..-1]
        string match -q -- '-*' $t; or echo $t
    end
end

# __tapir_at CMD N: the subcommand is CMD and N words follow it before the cursor.
function __tapir_at -a cmd n
    set -l a (__tapir_args)
    test "$a[1]" = "$cmd"; and test (count $a) -eq (math $n + 1)
end

# __tapir_after CMD N: the subcommand is CMD and at least N words follow it.
function __tapir_after -a cmd n
    set -l a (__tapir_args)
    test "$a[1]" = "$cmd"; and test (count $a) -ge (math $n + 1)
end

# __tapir_prev WORD...: the word before the cursor is one of WORDs.
function __tapir_prev
    set -l tokens (commandline -opc)
    contains -- $tokens[-1] $argv
end

# __tapir_seen WORD: WORD is among the words before the cursor.
function __tapir_seen -a word
    contains -- $word (commandline -opc)
end

complete -c tapir -f

# subcommands (the table of cli/main.c)
set -l top 'test (count (__tapir_args)) -eq 0'
complete -c tapir -n $top -a show -d 'Shows the current configuration and device information'
complete -c tapir -n $top -a showconf -d 'Shows the current configuration of an interface'
complete -c tapir -n $top -a set -d 'Changes the current configuration, adds peers, removes peers'
complete -c tapir -n $top -a setconf -d 'Applies a configuration file to an interface'
complete -c tapir -n $top -a addconf -d 'Appends a configuration file to an interface'
complete -c tapir -n $top -a syncconf -d 'Synchronizes a configuration file with an interface'
complete -c tapir -n $top -a genkey -d 'Generates a new private key'
complete -c tapir -n $top -a genpsk -d 'Generates a new preshared key'
complete -c tapir -n $top -a pubkey -d 'Reads a private key from stdin and writes a public key'
complete -c tapir -n $top -a up -d 'Starts tapird and brings an interface up from a config file'
complete -c tapir -n $top -a down -d 'Takes down an interface brought up with tapir up'
complete -c tapir -n $top -a strip -d 'Prints a tapir up file without the keys tapir up acts on'
complete -c tapir -n $top -a tuntap -d 'Manages persistent TUN/TAP devices and watches them'
complete -c tapir -n $top -a mesh -d 'Joins hosts into one overlay network kept in etcd'
complete -c tapir -n $top -a demo -d 'Builds a tunnel between namespaces on this machine'
complete -c tapir -n $top -l version -d 'Prints the version'
complete -c tapir -l help -d 'Shows the usage'

# show [--json] { IFNAME | all | interfaces } [FIELD]
complete -c tapir -n '__tapir_at show 0' -a '(__tapir_interfaces) all interfaces'
complete -c tapir -n '__tapir_after show 0' -l json -d 'JSON, without private or preshared keys'
set -l fields public-key private-key listen-port fwmark peers preshared-keys endpoints \
    allowed-ips latest-handshakes transfer persistent-keepalive drops tcp compression icmp metrics dump
complete -c tapir -n '__tapir_at show 1; and not __tapir_seen interfaces' -a "$fields"

complete -c tapir -n '__tapir_at showconf 0' -a '(__tapir_interfaces)'
for cmd in setconf addconf syncconf
    complete -c tapir -n "__tapir_at $cmd 0" -a '(__tapir_interfaces)'
    complete -c tapir -n "__tapir_at $cmd 1" -F
end

# set IFNAME [device keys] [peer KEY [peer keys]]...
set -l values listen-port fwmark private-key tcp-listen metrics-listen peer preshared-key endpoint \
    persistent-keepalive allowed-ips compression
complete -c tapir -n '__tapir_at set 0' -a '(__tapir_interfaces)'
set -l set_key "__tapir_after set 1; and not __tapir_prev $values"
complete -c tapir -n "$set_key; and not __tapir_seen peer" \
    -a 'listen-port fwmark private-key tcp-listen metrics-listen peer'
complete -c tapir -n "$set_key; and __tapir_seen peer" \
    -a 'remove preshared-key endpoint persistent-keepalive allowed-ips compression peer'
complete -c tapir -n '__tapir_after set 1; and __tapir_prev private-key preshared-key' -F
complete -c tapir -n '__tapir_after set 1; and __tapir_prev tcp-listen' -a 'on off'
complete -c tapir -n '__tapir_after set 1; and __tapir_prev metrics-listen' -a 'off 127.0.0.1:9586'
complete -c tapir -n '__tapir_after set 1; and __tapir_prev compression' -a 'lz4 off'
complete -c tapir -n '__tapir_after set 1; and __tapir_prev persistent-keepalive' -a 'off 25'
complete -c tapir -n '__tapir_after set 1; and __tapir_prev fwmark' -a off
complete -c tapir -n '__tapir_after set 1; and __tapir_prev peer' \
    -a '(tapir show (__tapir_args)[2] peers 2>/dev/null)'

# up [--foreground] CONFIG|IFNAME, strip CONFIG|IFNAME, down CONFIG|IFNAME
for cmd in up strip
    complete -c tapir -n "__tapir_at $cmd 0" -a '(__tapir_config_names)' -F
end
complete -c tapir -n '__tapir_after up 0' -l foreground -d 'Stay, supervising tapird'
complete -c tapir -n '__tapir_at down 0' -a '(__tapir_up_interfaces)'

# tuntap { add | del | show | list | watch | help } ...
complete -c tapir -n '__tapir_at tuntap 0' -a 'add del delete show list lst watch help'
set -l tt_value 'not __tapir_prev mode user group dev name --count proto host port -w'
complete -c tapir -n "__tapir_after tuntap 1; and __tapir_prev mode" -a 'tun tap'
complete -c tapir -n "__tapir_after tuntap 1; and __tapir_prev user" -a '(__fish_complete_users)'
complete -c tapir -n "__tapir_after tuntap 1; and __tapir_prev group" -a '(__fish_complete_groups)'
complete -c tapir -n "__tapir_after tuntap 1; and __tapir_prev dev name; and not __tapir_seen add" \
    -a '(__tapir_tuntap_devices)'
complete -c tapir -n "__tapir_after tuntap 1; and __tapir_seen add; and $tt_value" \
    -a 'dev name mode user group one_queue pi vnet_hdr multi_queue'
for verb in del delete
    complete -c tapir -n "__tapir_after tuntap 1; and __tapir_seen $verb; and $tt_value" \
        -a '(__tapir_tuntap_devices) dev name mode'
end
for verb in show list lst watch
    complete -c tapir -n "__tapir_after tuntap 1; and __tapir_seen $verb; and $tt_value" \
        -a '(__tapir_tuntap_devices) dev'
end
for verb in show list lst
    complete -c tapir -n "__tapir_after tuntap 1; and __tapir_seen $verb" -s d -l details \
        -d 'Also the processes attached'
end
complete -c tapir -n '__tapir_after tuntap 1; and __tapir_seen watch' -l count -x \
    -d 'Stop after N packets'
complete -c tapir -n "__tapir_after tuntap 1; and __tapir_seen watch; and $tt_value" \
    -a 'proto host port'
complete -c tapir -n "__tapir_after tuntap 1; and __tapir_seen watch; and __tapir_prev proto" \
    -a 'icmp tcp udp'
complete -c tapir -n '__tapir_after tuntap 1; and __tapir_seen watch' -s x -d 'Hex dump'
complete -c tapir -n '__tapir_after tuntap 1; and __tapir_seen watch' -s w -r -F \
    -d 'Write pcap to FILE'
complete -c tapir -n '__tapir_after tuntap 1; and __tapir_seen watch' -l attach \
    -d 'Attach as a queue (takes packets)'
complete -c tapir -n '__tapir_after tuntap 1; and __tapir_seen watch' -l answer-ping \
    -d 'Answer echo requests (with --attach)'

# demo [--keep | --clean]
complete -c tapir -n '__tapir_after demo 0' -l keep -d 'Leave the demo running'
complete -c tapir -n '__tapir_after demo 0' -l clean -d 'Remove what a kept demo left'

# mesh VERB [OPTION VALUE]...
complete -c tapir -n '__tapir_at mesh 0' -a 'init join leave status keygen sign revoke cni demo'
for verb in init join leave status sign revoke
    complete -c tapir -n "__fish_seen_subcommand_from mesh; and __fish_seen_subcommand_from $verb" -l etcd -r -d 'etcd endpoints, comma-separated'
    complete -c tapir -n "__fish_seen_subcommand_from mesh; and __fish_seen_subcommand_from $verb" -l network -r -d 'network name'
    complete -c tapir -n "__fish_seen_subcommand_from mesh; and __fish_seen_subcommand_from $verb" -l cacert -r -F
    complete -c tapir -n "__fish_seen_subcommand_from mesh; and __fish_seen_subcommand_from $verb" -l cert -r -F
    complete -c tapir -n "__fish_seen_subcommand_from mesh; and __fish_seen_subcommand_from $verb" -l key -r -F
    complete -c tapir -n "__fish_seen_subcommand_from mesh; and __fish_seen_subcommand_from $verb" -l page-size -r -d 'keys per etcd read'
end
set -l msub '__fish_seen_subcommand_from mesh; and __fish_seen_subcommand_from'
complete -c tapir -n "$msub init" -l cidr -r
complete -c tapir -n "$msub init" -l subnet-len -r
complete -c tapir -n "$msub init" -l mtu -r
complete -c tapir -n "$msub init" -l keepalive -r
complete -c tapir -n "$msub init" -l force
complete -c tapir -n "$msub init join" -l port -r
complete -c tapir -n "$msub init join status" -l admin-pub -r
complete -c tapir -n "$msub join status" -l interface -r -a '(__tapir_interfaces)'
complete -c tapir -n "$msub join" -l endpoint -r
complete -c tapir -n "$msub join" -l ttl -r
complete -c tapir -n "$msub join" -l cert-file -r -F
complete -c tapir -n "$msub join" -l trace-apply -r -F
complete -c tapir -n "$msub join leave status cni" -l state-dir -r -F
complete -c tapir -n "$msub status" -l json -d 'one JSON object'
complete -c tapir -n "$msub keygen" -l out -r -F
complete -c tapir -n "$msub sign revoke" -l admin-key -r -F
complete -c tapir -n "$msub sign revoke" -l public-key -r
complete -c tapir -n "$msub sign" -l subnet -r
complete -c tapir -n "$msub sign" -l days -r
complete -c tapir -n "$msub sign" -l seconds -r
complete -c tapir -n "$msub cni" -l bridge -r -d 'bridge name (cni0)'
complete -c tapir -n "$msub cni" -l name -r -d 'CNI network name (tapir)'
complete -c tapir -n "$msub cni" -l data-dir -r -F -d "host-local's dataDir"
complete -c tapir -n "$msub sign revoke" -l list -r -F -d 'the admin\'s copy of the revocation list'
complete -c tapir -n "$msub sign" -l revocation-serial -r
