package dev.procq;
public final class Main { public static void main(String[] args) {} }
