# Ferry "bootblock" test guest: a 512-byte x86 boot sector (GNU as syntax).
#
# Build:  as --32 -o bootblock.o bootblock.S
#         ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o bootblock.img bootblock.o
#
# SeaBIOS loads it at 0x7c00 and jumps to it in real mode.  It enables A20,
# switches to flat 32-bit protected mode and then dirties memory forever:
#
#   COM1 <- 'A'                                (once, "booted")
#   loop:
#     for each 4 KiB page p in [REGION_START, region_end):
#         byte at p += 1 (mod 256)
#         spin delay_count times               (0 = no spin)
#     COM1 <- 'B'                              ("one pass done")
#
# So a memory dump taken while the VM is stopped shows every page's first
# byte equal to the pass number, except that a pass in progress leaves a
# tail of pages one behind.  Ferry's PageOracle checks exactly that.
#
# Tunables live at fixed offsets so a host can patch a copy of the image
# without re-assembling (keep in sync with ferry.testkit.Bootblock):
#
#   offset 0x1a0 (416): region_end   u32 little endian, page aligned,
#                                    exclusive; default 100 MiB
#   offset 0x1a4 (420): delay_count  u32 little endian; spins per page
#   offset 0x1a8 (424): magic        "FBB1", identifies the layout
#   offset 0x1fe (510): 0x55 0xaa    boot signature
#
# 0x1be..0x1fd (the MBR partition table) stays zero so that QEMU's disk
# geometry guessing does not read our tunables as a partition.
#
# The region start is fixed at 1 MiB, above everything real mode uses.
# The guest needs RAM beyond region_end (SeaBIOS keeps tables at the top).

        .set REGION_START, 0x00100000
        .set PAGE_SIZE,    0x1000
        .set COM1,         0x3f8
        .set COM1_LSR,     COM1 + 5
        .set LSR_THRE,     0x20         # transmit holding register empty
        .set CODE_SEL,     0x08
        .set DATA_SEL,     0x10

        .code16
        .text
        .globl _start
_start:
        cli
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    $0x7c00, %sp
        ljmp    $0, $real_cs            # some BIOSes enter via 07c0:0000

real_cs:
        inb     $0x92, %al              # "fast A20": set bit 1 of port 0x92,
        orb     $0x02, %al              # keep bit 0 clear (it resets the CPU)
        andb    $0xfe, %al
        outb    %al, $0x92

        lgdtl   gdt_ptr
        movl    %cr0, %eax
        orl     $1, %eax                # CR0.PE
        movl    %eax, %cr0
        ljmpl   $CODE_SEL, $prot32

        .code32
prot32:
        movw    $DATA_SEL, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %fs
        movw    %ax, %gs
        movw    %ax, %ss
        movl    $0x7c00, %esp           # stack grows down below the sector

        movb    $'A', %al
        call    putc

next_pass:
        movl    $REGION_START, %edi
next_page:
        incb    (%edi)
        movl    delay_count, %ecx       # re-read each page: cheap, and lets a
        testl   %ecx, %ecx              # debugger poke it at run time
        jz      1f
0:      decl    %ecx
        jnz     0b
1:      addl    $PAGE_SIZE, %edi
        cmpl    region_end, %edi
        jb      next_page

        movb    $'B', %al
        call    putc
        jmp     next_pass

# putc: write %al to COM1, waiting until the UART can take it.
putc:
        movb    %al, %ah
        movw    $COM1_LSR, %dx
0:      inb     %dx, %al
        testb   $LSR_THRE, %al
        jz      0b
        movb    %ah, %al
        movw    $COM1, %dx
        outb    %al, %dx
        ret

# Flat 4 GiB code and data segments.
        .p2align 3
gdt:
        .quad   0                       # null descriptor
        .quad   0x00cf9a000000ffff      # 0x08: code, base 0, limit 4G, 32-bit
        .quad   0x00cf92000000ffff      # 0x10: data, base 0, limit 4G, 32-bit
gdt_end:
gdt_ptr:
        .word   gdt_end - gdt - 1
        .long   gdt

# Tunables at fixed offsets (see header).
        .org    0x1a0
region_end:
        .long   100 * 1024 * 1024
delay_count:
        .long   0
magic:
        .ascii  "FBB1"

        .org    0x1fe
        .byte   0x55, 0xaa
