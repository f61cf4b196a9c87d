package dev.procq.pool;

import java.util.Optional;

/** Linux signal numbers as on x86-64 and arm64 (MIPS, SPARC and Alpha number some differently). */
enum Signal {
    HUP(1), INT(2), QUIT(3), ILL(4), TRAP(5), ABRT(6), BUS(7), FPE(8), KILL(9), USR1(10), SEGV(11),
    USR2(12), PIPE(13), ALRM(14), TERM(15), STKFLT(16), CHLD(17), CONT(18), STOP(19), TSTP(20),
    TTIN(21), TTOU(22), URG(23), XCPU(24), XFSZ(25), VTALRM(26), PROF(27), WINCH(28), IO(29),
    PWR(30), SYS(31);

    /** SIGRTMAX: an exit status above 128 + this is an exit code, not a death by signal. */
    static final int HIGHEST_NUMBER = 64;

    final int number;

    Signal(int number) {
        this.number = number;
    }

    static Optional<Signal> of(int number) {
        for (Signal signal : values()) {
            if (signal.number == number) {
                return Optional.of(signal);
            }
        }
        return Optional.empty();
    }

    /** Why a process that died of signal {@code number} died, in a few words. */
    static String describeDeath(int number) {
        Optional<Signal> signal = of(number);
        if (signal.isEmpty()) {
            return "killed by signal " + number;
        }
        return switch (signal.get()) {
            case XCPU -> "CPU time limit exceeded";
            case XFSZ -> "file size limit exceeded";
            default -> "killed by signal " + number + " (" + signal.get().name() + ")";
        };
    }
}
