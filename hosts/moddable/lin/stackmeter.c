// The lin build's stack meter (hosts/moddable/lin/stackmeter.js): XS's current stack depth and its high-water mark,
// in slots, and a way to set the mark back, so a measurement can leave the simulator's stand-ins out.
#include "xsAll.h"
#include "xsmc.h"

// Slots in use now (the caller's frame and this host call's included).
void xs_stackmeter_depth(xsMachine *the)
{
	xsmcSetInteger(xsResult, (txInteger)(the->stackTop - the->stack));
}

// The high-water mark in slots, as the "XS Stack Used" meter reports it in bytes; -1 where XS keeps no mark (a
// build without mxInstrument: the release build).
void xs_stackmeter_peak(xsMachine *the)
{
#ifdef mxInstrument
	xsmcSetInteger(xsResult, (txInteger)(the->stackTop - the->stackPeak));
#else
	xsmcSetInteger(xsResult, -1);
#endif
}

// Sets the high-water mark to `slots` in use.
void xs_stackmeter_set_peak(xsMachine *the)
{
#ifdef mxInstrument
	the->stackPeak = the->stackTop - xsmcToInteger(xsArg(0));
#endif
}

// sizeof(txSlot) on this build: 32 on the 64-bit host, 16 on the 32-bit chips.
void xs_stackmeter_slot_bytes(xsMachine *the)
{
	xsmcSetInteger(xsResult, (txInteger)sizeof(txSlot));
}
