package dev.procq.pool;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The spawn helper's wire format (docs/spawn-helper.md): every frame is a little-endian u32
 * length, then a type byte and its payload; the length counts the type byte and the payload.
 * Strings are a u32 length and their bytes, with no NUL inside.
 */
final class HelperFrames {

    static final int PROTOCOL_VERSION = 4;

    static final byte HELLO = 0x01;
    static final byte SPAWN = 0x02;
    static final byte SIGNAL = 0x03;
    static final byte SHUTDOWN = 0x04;
    static final byte DEADLINE = 0x05;

    static final int HELLO_ACK = 0x81;
    static final int SPAWNED = 0x82;
    static final int SPAWN_FAILED = 0x83;
    static final int EXITED = 0x84;
    static final int ERROR = 0x85;

    static final int FEATURE_SUBREAPER = 0x1;
    static final int FEATURE_CLOSE_RANGE = 0x2;

    static final int EXIT_SIGNALLED = 0x1;
    static final int EXIT_CORE_DUMPED = 0x2;
    static final int EXIT_OUTPUT_CUT = 0x4;
    static final int EXIT_FENCED = 0x8;

    static final int CGROUP_USED = 0x1;
    static final int CGROUP_MEMORY_PEAK = 0x2;
    static final int CGROUP_CPU = 0x4;

    /** A uid or gid in a spawn frame that keeps the helper's own. */
    static final int ID_UNCHANGED = 0xFFFFFFFF;

    /** The helper's own limit on a frame from the worker. */
    static final int MAX_FRAME_TO_HELPER = 4 * 1024 * 1024;
    /** An EXITED frame holds at most the helper's largest tail (4 MiB) plus its fixed fields. */
    static final int MAX_FRAME_FROM_HELPER = 4 * 1024 * 1024 + 4096;

    private HelperFrames() {
    }

    static byte[] hello() {
        return frame(HELLO, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(PROTOCOL_VERSION).array());
    }

    static byte[] shutdown() {
        return frame(SHUTDOWN, new byte[0]);
    }

    /**
     * @param killAfter when positive, the helper SIGKILLs the child's whole group this much later,
     *     whatever became of the child meanwhile
     */
    static byte[] signal(long id, Signal signal, boolean wholeGroup, Duration killAfter) {
        int killAfterMillis = (int) Math.min(Integer.MAX_VALUE, killAfter.toMillis());
        return frame(SIGNAL, ByteBuffer.allocate(17).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(id).putInt(signal.number).put((byte) (wholeGroup ? 1 : 0))
                .putInt(killAfterMillis).array());
    }

    /**
     * @param helperNanos when the helper begins ending the child, on the helper's CLOCK_MONOTONIC
     *     in nanoseconds (0: no deadline)
     * @param killAfter the grace between the SIGTERM to the group and the SIGKILL
     */
    static byte[] deadline(long id, long helperNanos, Duration killAfter) {
        int killAfterMillis = (int) Math.min(Integer.MAX_VALUE, killAfter.toMillis());
        return frame(DEADLINE, ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(id).putLong(Math.max(0, helperNanos)).putInt(killAfterMillis).array());
    }

    /**
     * @param program the program's resolved path, which execve runs
     * @param lingerMillis how long output may still arrive after the child exited
     * @param cgroups where the child's cgroup is made, with which limits; null for no cgroup
     * @throws CannotSpawn when the frame would exceed what the helper accepts
     */
    static byte[] spawn(long id, ChildSpec spec, Path program, long lingerMillis, CgroupTree cgroups)
            throws CannotSpawn {
        Out out = new Out();
        out.u64(id);
        out.u32(spec.tailBytes());
        out.u32((int) lingerMillis);
        RunAs user = spec.runAs();
        out.u32(user == null ? ID_UNCHANGED : user.uid());
        out.u32(user == null ? ID_UNCHANGED : user.gid());
        List<long[]> limits = spec.limits().kernelLimits();
        out.u8(limits.size());
        for (long[] limit : limits) {
            out.u32((int) limit[0]);
            out.u64(limit[1]);
            out.u64(limit[2]);
        }
        JobCgroup cgroup = cgroups == null ? null : spec.cgroup();
        out.string(cgroup == null ? "" : cgroups.pathOf(cgroup).toString());
        List<String[]> files = cgroup == null ? List.of() : cgroup.files(cgroups.controllers());
        out.u8(files.size());
        for (String[] file : files) {
            out.string(file[0]);
            out.string(file[1]);
        }
        out.string(spec.workingDirectory() == null ? "" : spec.workingDirectory().toString());
        out.string(program.toString());
        List<String> argv = spec.argv();
        out.u32(argv.size());
        // The program sees the path it was found at as its name, as with the ProcessBuilder backend.
        out.string(program.toString());
        for (String argument : argv.subList(1, argv.size())) {
            out.string(argument);
        }
        Map<String, String> environment = spec.environment();
        out.u32(environment.size());
        for (Map.Entry<String, String> variable : environment.entrySet()) {
            out.string(variable.getKey() + "=" + variable.getValue());
        }
        if (out.size() + 1 > MAX_FRAME_TO_HELPER) {
            throw new CannotSpawn("arguments and environment take " + out.size()
                    + " bytes, more than a child may be given");
        }
        return frame(SPAWN, out.toByteArray());
    }

    private static byte[] frame(byte type, byte[] payload) {
        ByteBuffer frame = ByteBuffer.allocate(5 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        frame.putInt(payload.length + 1).put(type).put(payload);
        return frame.array();
    }

    /** A payload being written, little-endian. */
    private static final class Out extends ByteArrayOutputStream {
        Out() {
            super(256);
        }

        void u8(int value) {
            write(value);
        }

        void u32(int value) {
            write(value);
            write(value >>> 8);
            write(value >>> 16);
            write(value >>> 24);
        }

        void u64(long value) {
            u32((int) value);
            u32((int) (value >>> 32));
        }

        void string(String text) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            u32(bytes.length);
            write(bytes, 0, bytes.length);
        }
    }

    /** How a child ended, as the helper reports it in an EXITED frame. */
    record Exit(long id, int flags, int codeOrSignal, long wallNanos, long userMicros,
            long systemMicros, long maxRssKb, long totalBytes, long droppedBytes, int cgroupFlags,
            long cgroupUserMicros, long cgroupSystemMicros, long memoryPeakBytes, long oomKills,
            byte[] tail) {

        static Exit read(ByteBuffer payload) {
            long id = payload.getLong();
            int flags = payload.getInt();
            int code = payload.getInt();
            long wall = payload.getLong();
            long user = payload.getLong();
            long system = payload.getLong();
            long rss = payload.getLong();
            long total = payload.getLong();
            long dropped = payload.getLong();
            int cgroupFlags = payload.getInt();
            long cgroupUser = payload.getLong();
            long cgroupSystem = payload.getLong();
            long memoryPeak = payload.getLong();
            long oomKills = payload.getLong();
            int tailLength = payload.getInt();
            if (tailLength < 0 || tailLength > payload.remaining()) {
                throw new IllegalArgumentException("tail length " + tailLength + " exceeds the frame");
            }
            byte[] tail = new byte[tailLength];
            payload.get(tail);
            return new Exit(id, flags, code, wall, user, system, rss, total, dropped, cgroupFlags, cgroupUser,
                    cgroupSystem, memoryPeak, oomKills, tail);
        }

        /**
         * What the child cost: with a cgroup, the CPU of everything that ran in it (cpu.stat,
         * descendants that were never waited for included) and its peak memory; else wait4's.
         */
        ResourceUsage usage() {
            boolean cgroupCpu = (cgroupFlags & CGROUP_CPU) != 0;
            Long peak = (cgroupFlags & CGROUP_MEMORY_PEAK) != 0 ? memoryPeakBytes : null;
            return new ResourceUsage(cgroupCpu ? cgroupUserMicros : userMicros,
                    cgroupCpu ? cgroupSystemMicros : systemMicros, maxRssKb, peak, oomKills);
        }

        boolean signalled() {
            return (flags & EXIT_SIGNALLED) != 0;
        }

        boolean outputCut() {
            return (flags & EXIT_OUTPUT_CUT) != 0;
        }

        /** The helper itself began ending the child: its deadline had passed. */
        boolean fenced() {
            return (flags & EXIT_FENCED) != 0;
        }
    }

    /** Reads a helper string: a u32 length and its bytes. */
    static String string(ByteBuffer payload) {
        int length = payload.getInt();
        if (length < 0 || length > payload.remaining()) {
            throw new IllegalArgumentException("string length " + length + " exceeds the frame");
        }
        byte[] bytes = new byte[length];
        payload.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Where in the child a spawn failed, in words. */
    static String stage(int stage) {
        return switch (stage) {
            case 1 -> "cannot create a pipe";
            case 2 -> "cannot fork";
            case 3 -> "setsid failed";
            case 4 -> "PR_SET_PDEATHSIG failed";
            case 5 -> "cannot set resource limits";
            case 6 -> "cannot enter the working directory";
            case 7 -> "cannot set up stdin, stdout and stderr";
            case 8 -> "cannot execute the program";
            case 9 -> "cannot drop the supplementary groups";
            case 10 -> "cannot change to the type's group";
            case 11 -> "cannot change to the type's user";
            case 12 -> "cannot make or enter the child's cgroup";
            default -> "spawn failed at stage " + stage;
        };
    }
}
