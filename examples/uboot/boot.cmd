# tufota A/B selection for U-Boot (compile with: mkimage -A arm64 -T script -d boot.cmd boot.scr).
#
# The protocol (client/src/device/boot.rs): tufota_active is the confirmed slot; tufota_try a
# slot to try, tufota_tries_left boots left for it. The count goes down *before* the trial
# boots, so a power cut or a hang in the new image ends in the old one. tufota-client writes
# these with fw_setenv and reads the booted slot from tufota.slot= on the kernel command line.
# Partitions here: slot a = mmc 0:2, slot b = mmc 0:3. Adapt load addresses to your board.

test -n "${tufota_active}" || setenv tufota_active a
setenv tufota_boot ${tufota_active}
if test -n "${tufota_try}"; then
  if test "${tufota_tries_left}" != "0" && test -n "${tufota_tries_left}"; then
    setexpr tufota_tries_left ${tufota_tries_left} - 1
    setenv tufota_boot ${tufota_try}
  else
    setenv tufota_failed ${tufota_try}
    setenv tufota_try
    setenv tufota_tries_left
  fi
  saveenv
fi

if test "${tufota_boot}" = "b"; then setenv tufota_part 3; else setenv tufota_part 2; fi
setenv bootargs "${bootargs} root=/dev/mmcblk0p${tufota_part} rootwait tufota.slot=${tufota_boot}"
load mmc 0:${tufota_part} ${kernel_addr_r} /boot/Image
load mmc 0:${tufota_part} ${fdt_addr_r} /boot/board.dtb
booti ${kernel_addr_r} - ${fdt_addr_r}
