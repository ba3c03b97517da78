#!/bin/sh
# /init of the linux-stress test guest (see LinuxStress.java): mounts the kernel file systems,
# reads ferry.mib= and ferry.rate= from the kernel command line, and becomes the stressor.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Keep kernel messages off the console, so they never split the lines the host parses.
echo 1 > /proc/sys/kernel/printk
mib=64
rate=0
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    ferry.mib=*) mib=${arg#ferry.mib=} ;;
    ferry.rate=*) rate=${arg#ferry.rate=} ;;
  esac
done
echo "FERRY-BOOTED $(cut -d' ' -f1 /proc/uptime) $(uname -r)"
exec /bin/stress "$mib" "$rate"
