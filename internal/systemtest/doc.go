// Package systemtest holds the harness's system tests and benchmarks: the
// whole measuring path (engine, client, aggregation) against the embedded
// simulator and llm-d-inference-sim in their own processes, with a
// raw-socket reference client (package accuracy); the fault matrix; the
// soak; and the benchmarks against hey and vegeta and of the gate's rates.
// It has no code of its own: its tests run alone and last in make test
// (step system), because a compiler on one of the two cores is noise they
// would measure.
package systemtest
