#!/bin/sh
# /init of the linux-stress test guest (see LinuxStress.java): mounts the kernel file systems,
# reads ferry.mib= and ferry.rate= from the kernel command line, and becomes the stressor. With
# ferry.disk=BLOCKS:KIB it first loads the virtio-blk modules and starts the block writer on /dev/vda.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Keep kernel messages off the console, so they never split the lines the host parses.
echo 1 > /proc/sys/kernel/printk
mib=64
rate=0
disk=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    ferry.mib=*) mib=${arg#ferry.mib=} ;;
    ferry.rate=*) rate=${arg#ferry.rate=} ;;
    ferry.disk=*) disk=${arg#ferry.disk=} ;;
  esac
done
echo "FERRY-BOOTED $(cut -d' ' -f1 /proc/uptime) $(uname -r)"
if [ -n "$disk" ]; then
  for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
    [ -f /lib/ferry-modules/$m.ko ] && insmod /lib/ferry-modules/$m.ko
  done
  i=0
  while [ ! -b /dev/vda ] && [ $i -lt 10 ]; do sleep 1; i=$((i + 1)); done
  if [ -b /dev/vda ]; then
    /bin/diskwriter /dev/vda "${disk%%:*}" "${disk#*:}" &
  else
    echo "FERRY-ERROR no /dev/vda for the block writer (virtio-blk modules missing?)"
  fi
fi
exec /bin/stress "$mib" "$rate"
