package dev.procq.store;

/** Attempts of a type that ended in the last minute, and how many of them ended OK. */
public record TypeThroughput(String type, long finished, long ok) {
}
