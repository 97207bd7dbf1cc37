#!/usr/bin/env bash
# Starts a one-node Ceph cluster (1 mon, 1 bluestore OSD on a 3 GiB sparse file) and a RADOS
# gateway serving S3 on 127.0.0.1:RGW_PORT, all inside DIR, as the notes' recipe measured
# (../shared/reference/remote-and-scale-notes.md, Appendix A). Creates the S3 user ACCESS/SECRET.
# Writes DIR/pids (one PID a line: mon, osd, rgw) for the caller to stop by PID.
# usage: rgw-start.sh DIR MON_PORT RGW_PORT ACCESS SECRET
set -euo pipefail
dir=$1 mon_port=$2 rgw_port=$3 access=$4 secret=$5
fsid=$(cat /proc/sys/kernel/random/uuid)
mkdir -p "$dir/mon" "$dir/osd" "$dir/run"
conf=$dir/ceph.conf
cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd class update on start = false
osd crush update on start = false
osd objectstore = bluestore
bluestore block create = true
bluestore block size = 3221225472
bluestore fsck on mount = false
osd pool default pg autoscale mode = off
osd pool default pg num = 8
mon max pg per osd = 1000
ms bind msgr2 = false
run dir = $dir/run
log file = $dir/\$name.log
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
keyring = /dev/null
[mon.a]
mon data = $dir/mon
[osd.0]
osd data = $dir/osd
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
CONF
export CEPH_CONF=$conf
c="--conf $conf"
monmaptool --create --add a "v1:127.0.0.1:$mon_port" --fsid "$fsid" "$dir/monmap" >/dev/null
ceph-mon $c --id a --mkfs --monmap "$dir/monmap" --keyring /dev/null
ceph-mon $c --id a
uuid=$(cat /proc/sys/kernel/random/uuid)
# The monitor answers EPERM ("problem getting command descriptions") until it has formed its
# quorum of one, so the first command is retried; "osd create" with one uuid is idempotent.
id=
for _ in $(seq 1 150); do
  id=$(ceph $c osd create "$uuid" 2>/dev/null) && break
  sleep 0.2
done
[ -n "$id" ] || { echo "rgw-start: the monitor did not answer" >&2; exit 1; }
ceph $c osd crush add-bucket localhost host >/dev/null 2>&1
ceph $c osd crush move localhost root=default >/dev/null 2>&1
ceph $c osd crush add "osd.$id" 1 host=localhost >/dev/null 2>&1
ceph-osd $c -i "$id" --mkfs --osd-uuid "$uuid" >/dev/null 2>&1
ceph-osd $c -i "$id" 2>>"$dir/start.log"
mkdir -p "$dir/rgw"
radosgw $c -n client.rgw.a
for _ in $(seq 1 600); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$rgw_port/" || true)
  [ "$code" = 200 ] && break
  sleep 0.1
done
[ "$code" = 200 ] || { echo "rgw-start: radosgw did not answer on port $rgw_port" >&2; exit 1; }
radosgw-admin $c user create --uid=rt --display-name=rt --access-key="$access" --secret="$secret" >/dev/null
for f in mon.a osd.$id client.rgw.a; do tr -d '\n' <"$dir/run/$f.pid"; echo; done >"$dir/pids"
