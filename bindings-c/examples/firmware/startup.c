/* Startup of the Cortex-M4F firmware: vector table, FPU on, .data copied
 * from flash, .bss zeroed, newlib's semihosting stdio and constructors,
 * then exit(main()) so that main's result becomes QEMU's exit status. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];
extern int main(void);
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);

void Reset_Handler(void);

/* Any fault ends the run with a distinct status instead of hanging CI. */
static void Fault_Handler(void) { _exit(70); }
static void Default_Handler(void) { _exit(71); }

__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)_estack, /* initial stack pointer */
    Reset_Handler,
    Default_Handler, /* NMI */
    Fault_Handler,   /* HardFault */
    Fault_Handler,   /* MemManage */
    Fault_Handler,   /* BusFault */
    Fault_Handler,   /* UsageFault */
    0, 0, 0, 0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    Default_Handler, /* SysTick */
};

void Reset_Handler(void) {
  /* CP10 and CP11 full access: the FPU must be on before any FP instruction. */
  volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
  *cpacr |= 0xFu << 20;
  __asm volatile("dsb\n\tisb" ::: "memory");

  for (uint32_t *src = _sidata, *dst = _sdata; dst < _edata;) *dst++ = *src++;
  for (uint32_t *dst = _sbss; dst < _ebss;) *dst++ = 0;

  initialise_monitor_handles();
  __libc_init_array();
  exit(main());
}

void _init(void) {}
void _fini(void) {}

/* Required by the library on bare metal: called if it ever panics (a bug). */
void mfp_oauth_panic_hook(void) {
  printf("mfp_oauth: PANIC\n");
  _exit(72);
}
