package dev.procq.worker;

import java.util.List;

/**
 * What one round trip may claim: per type (in the order to fill them) its free slots, and
 * the worker's free slots in all. Computed after the results of the round are gathered, so
 * the slots those results free count as free.
 */
record Claims(String[] types, Integer[] slots, int total) {
    static final Claims NONE = new Claims(new String[0], new Integer[0], 0);

    static Claims of(List<String> types, List<Integer> slots, int total) {
        if (types.isEmpty() || total <= 0) return NONE;
        return new Claims(types.toArray(String[]::new), slots.toArray(Integer[]::new), total);
    }

    boolean none() {
        return total <= 0 || types.length == 0;
    }
}
