/*
 * sink-perfetto-private.h: the Perfetto sink's state and field numbers,
 * shared by its tracks and names (sink_perfetto.c) and its packet writer
 * (sink_perfetto_packet.c).  Field numbers are those of Perfetto's
 * protos/perfetto/trace/perfetto_trace.proto; t/sinks.proto holds the
 * subset written.  Not installed.
 */
#ifndef EVPROF_SINK_PERFETTO_PRIVATE_H
#define EVPROF_SINK_PERFETTO_PRIVATE_H 1

#include "sink-private.h"
#include "sink_out.h"
#include "sink_pb.h"

/* TracePacket */
#define F_TIMESTAMP 8
#define F_SEQ_ID 10
#define F_TRACK_EVENT 11
#define F_INTERNED 12
#define F_SEQ_FLAGS 13
#define F_CLOCK_SNAPSHOT 6
#define F_DEFAULTS 59
#define F_TRACK_DESCRIPTOR 60
#define SEQ_CLEARED 1
#define SEQ_NEEDS_STATE 2
/* TracePacketDefaults */
#define D_CLOCK_ID 58
#define D_TRACK_EVENT 11
/* TrackEvent (and TrackEventDefaults.track_uuid) */
#define E_TYPE 9
#define E_NAME_IID 10
#define E_TRACK_UUID 11
#define E_COUNTER 30
#define E_SOURCE_IID 34
#define TYPE_BEGIN 1
#define TYPE_END 2
#define TYPE_INSTANT 3
#define TYPE_COUNTER 4
/* InternedData, EventName, SourceLocation */
#define I_EVENT_NAMES 2
#define I_SOURCE_LOCATIONS 4
/* ClockSnapshot and its Clock */
#define C_CLOCKS 1
#define C_PRIMARY 2
#define CLOCK_MONOTONIC_ID 3
#define CLOCK_SEQ 64
/* TrackDescriptor, ProcessDescriptor, ThreadDescriptor, CounterDescriptor */
#define T_UUID 1
#define T_NAME 2
#define T_PROCESS 3
#define T_THREAD 4
#define T_PARENT 5
#define T_COUNTER 8
#define UNIT_SIZE_BYTES 3

#define IID_START 1  /* marker names, then functions from IID_FIRST */
#define IID_STOP 2
#define IID_FIRST 3

/* Track uuids and sequence ids of slot i; the process is track 1. */
#define THREAD_UUID(i) (2 + 2 * (uint64_t)(i))
#define COUNTER_UUID(i) (3 + 2 * (uint64_t)(i))
#define THREAD_SEQ(i) (1 + 2 * (uint32_t)(i))
#define COUNTER_SEQ(i) (2 + 2 * (uint32_t)(i))

typedef struct pname {
    evprof__desc d;
} pname;

typedef struct pseq {
    uint32_t id;
    int64_t last;          /* timestamp of the previous packet */
    uint8_t *interned;     /* bit per iid already sent on this sequence */
    size_t ninterned;      /* bytes */
} pseq;

typedef struct pthread {
    pseq slices, counter;
    size_t depth;          /* slices begun and not ended */
    int64_t first, last;   /* times of its first and last events */
    int64_t early;         /* frames found open before its first event */
    int64_t bytes, pend_t;
    int seen, have_pend, has_counter;
} pthread;

typedef struct perfetto {
    const evprof__sink_ctx *ctx;
    evprof__out o;
    evprof__names names;
    evprof__imap iid[2];   /* key -> iid, per builtin */
    int64_t last_key;      /* the last key looked up, and its iid */
    int last_builtin;
    uint64_t last_iid;
    pname *name;           /* by iid - IID_FIRST */
    size_t nname, capname;
    pthread *thread;       /* by slot */
    size_t nslots;
    char **label;          /* the name of each slot's track */
    evprof__pb pkt, sub, sub2, sub3;
} perfetto;

/* The packet writer (sink_perfetto_packet.c); each returns 0 or a
 * negative code. */

/* Writes pkt as one Trace.packet and empties it. */
int evprof__pf_put_packet(perfetto *p, evprof__pb *pkt);
/* First packets of sequence id: its defaults (clock, track), its clock
 * anchored at t. */
int evprof__pf_start_seq(perfetto *p, pseq *s, uint32_t id, uint64_t track,
                         int64_t t);
/* A TrackDescriptor of uuid (under parent, 0 for none), named name
 * (NULL: none), `what` being its field `field`. */
int evprof__pf_descriptor(perfetto *p, uint64_t uuid, uint64_t parent,
                          const char *name, const evprof__pb *what,
                          uint32_t field);
/* One TrackEvent of `type` on sequence s at time t: iid names it (0:
 * none; interned on s the first time), value is a counter's. */
int evprof__pf_event(perfetto *p, pseq *s, int64_t t, int type, uint64_t iid,
                     int64_t value);

#endif /* EVPROF_SINK_PERFETTO_PRIVATE_H */
