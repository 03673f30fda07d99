/*
 * cleanup.pml - Cleanup of a module racing with a sender, a receiver and a second Cleanup.
 *
 *   spin -a cleanup.pml           our design (src/effects/Mailbox.ts, contexts/Beehive.ts `send`,
 *                                 `receive`, `cleanup`/`cleanupNow`): 0 errors
 *   spin -a -DGO cleanup.pml      Go beehive: Cleanup = getChannel; delChannel (module table, first
 *                                 group only); sleep; close(ch). Send on the closed channel panics
 *                                 (recovered: the message is lost), two Cleanups close twice (crash),
 *                                 buffered messages nobody drains vanish
 *
 * Mutants of our design, each must fail:
 *   -DMUT_DROP_BUFFER    close discards the buffered messages instead of reporting them
 *   -DMUT_KEEP_OFFERER   close does not fail a sender waiting for room
 *   -DMUT_ONE_GROUP      cleanup removes the module from the first group only (Go's `break`)
 *
 * Processes: Sender (sends messages 1..K in order; each send returns OK, ModuleClosed or
 * ModuleNotFound, and may wait for room), Receiver (receives until it fails or stops; it may stop at
 * any time, leaving messages behind), Cleanup(1) and Cleanup(2), Monitor. The module is in two groups.
 * The mailbox capacity is 1 or 2, chosen at the start.
 */

#define K        3        /* messages the sender sends */
#define CAPMAX   2

#define NONE     0
#define OK       1        /* send: accepted */
#define CLOSED   2        /* send: ModuleClosed */
#define NOTFOUND 3        /* send: ModuleNotFound (Go: "bad module name", logged; counted as told) */
#define LOST     4        /* Go: send on closed channel, panic recovered, message lost, nobody told */

byte cap;                         /* mailbox capacity, 1 or 2 */
chan box = [CAPMAX] of { byte };  /* the buffered messages, oldest first */
bool registered = true;           /* the module is in the module table */
bool inGroup[2];                  /* the module is in groups g0 and g1 */

/* Observer */
byte accepted[K + 1];             /* the mailbox accepted m (buffered or handed to a receiver) */
byte received[K + 1];             /* a receive returned m */
byte undelivered[K + 1];          /* m is in a cleanup report */
byte told[K + 1];                 /* what send(m) returned */
byte reports = 0;                 /* cleanups that returned a report */
byte notFound = 0;                /* cleanups that failed with ModuleNotFound */
bool closeOfClosedChannel = false;
bool sendOnClosedChannel = false;

#ifndef GO
/* ------------------------------------------------------------------ our design */
bool open = true;                 /* Mailbox.open */
bool takerWaiting = false;        /* the receiver is a queued taker */
byte handed = 0;                  /* the message handed to the taker (it returns it when it runs) */
bool takerClosed = false;         /* the taker was failed with ModuleClosed */
bool offererWaiting = false;      /* the sender is a queued offerer */
byte offerMsg = 0;

/* Mailbox.admitOfferer: the oldest waiting sender's message moves into the freed room at once */
inline admit() {
  if
  :: offererWaiting && len(box) < cap ->
     offererWaiting = false; box!offerMsg; accepted[offerMsg]++; told[offerMsg] = OK
  :: else -> skip
  fi
}

/* Mailbox.offerNow / armOffer without waiting: hand to the waiting receiver, or buffer if room */
inline offer(m) {
  if
  :: takerWaiting -> takerWaiting = false; handed = m; accepted[m]++; told[m] = OK
  :: !takerWaiting && len(box) < cap -> box!m; accepted[m]++; told[m] = OK
  :: else -> skip
  fi
}

proctype Sender() {
  byte m = 1;
  do
  :: m > K -> break
  :: m <= K ->
     atomic {                         /* send: look the module up, offerNow */
       if
       :: !registered -> told[m] = NOTFOUND
       :: else -> offer(m)
       fi
     };
     if
     :: told[m] != NONE -> skip
     :: else ->
        atomic {                      /* awaitArm(armOffer): the fiber may have yielded in between */
          if
          :: !open -> told[m] = CLOSED
          :: else ->
             offer(m);
             if
             :: told[m] == NONE -> offererWaiting = true; offerMsg = m
             :: else -> skip
             fi
          fi
        };
        told[m] != NONE               /* suspended until admitted or failed by close */
     fi;
     m++
  od
}

proctype Receiver() {
  byte m;
  do
  :: atomic {                         /* receive: look the module up, takeNow */
       if
       :: !registered -> m = 255
       :: registered && nempty(box) -> box?m; received[m]++; admit()
       :: registered && empty(box) -> m = 0
       fi
     };
     if
     :: m == 255 -> break             /* ModuleNotFound */
     :: m != 255 && m != 0 -> skip
     :: m == 0 ->
        atomic {                      /* awaitArm(armTake) */
          if
          :: nempty(box) -> box?m; received[m]++; admit()
          :: empty(box) && !open -> m = 255
          :: empty(box) && open -> takerWaiting = true
          fi
        };
        if
        :: m == 255 -> break          /* ModuleClosed */
        :: m != 0 -> skip
        :: m == 0 ->                  /* suspended: handed a message, or failed by close */
           atomic {
             if
             :: handed != 0 -> received[handed]++; handed = 0
             :: takerClosed -> m = 255
             fi
           };
           if
           :: m == 255 -> break
           :: else -> skip
           fi
        fi
     fi
  :: break                            /* the module stops receiving */
  od
}

/* cleanup: one synchronous step (cleanupNow) */
proctype Cleanup(byte k) {
  byte m;
  atomic {
    if
    :: !registered -> notFound++
    :: else ->
       registered = false;
       inGroup[0] = false;
#ifndef MUT_ONE_GROUP
       inGroup[1] = false;
#endif
       open = false;                  /* Mailbox.close */
       do
       :: nempty(box) ->
          box?m;
#ifndef MUT_DROP_BUFFER
          undelivered[m]++
#endif
       :: empty(box) -> break
       od;
       if
       :: takerWaiting -> takerWaiting = false; takerClosed = true
       :: else -> skip
       fi;
#ifndef MUT_KEEP_OFFERER
       if
       :: offererWaiting -> offererWaiting = false; told[offerMsg] = CLOSED
       :: else -> skip
       fi;
#endif
       reports++
    fi
  }
}

#else
/* ------------------------------------------------------------------ Go beehive */
bool chanClosed = false;

proctype Sender() {
  byte m = 1;
  bool got;
  do
  :: m > K -> break
  :: m <= K ->
     atomic { got = registered };     /* channel := getChannel(module) (RLock) */
     if
     :: !got -> told[m] = NOTFOUND
     :: got ->
        atomic {                      /* channel <- message (blocks while full); defer recover() */
          if
          :: !chanClosed && len(box) < cap -> box!m; accepted[m]++; told[m] = OK
          :: chanClosed -> told[m] = LOST; sendOnClosedChannel = true
          fi
        }
     fi;
     m++
  od
}

proctype Receiver() {
  byte m;
  bool got;
  do
  :: atomic { got = registered };     /* getChannel */
     if
     :: !got -> break                 /* "failed to get channel for module" */
     :: got ->
        atomic {                      /* <-channel: drains the buffer even after close */
          if
          :: nempty(box) -> box?m; received[m]++
          :: empty(box) && chanClosed -> m = 255   /* (Message{}, nil) */
          fi
        };
        if
        :: m == 255 -> break
        :: else -> skip
        fi
     fi
  :: break
  od
}

proctype Cleanup(byte k) {
  bool got;
  atomic { got = registered };        /* ch := getChannel(module) */
  if
  :: !got -> notFound++               /* unknown module: does nothing */
  :: got ->
     atomic {                         /* delChannel: Lock */
       if
       :: registered ->
          registered = false;
          if                          /* the first group found (random map order), then break */
          :: inGroup[0] -> inGroup[0] = false
          :: inGroup[1] -> inGroup[1] = false
          fi;
          reports++
       :: else -> notFound++          /* logs "Failed to get channel" and returns; Cleanup goes on */
       fi
     };
     /* time.Sleep(20 ms): any interleaving */
     atomic {                         /* close(ch): not recovered */
       closeOfClosedChannel = chanClosed;
       chanClosed = true
     };
     assert(!closeOfClosedChannel)    /* panic: close of closed channel, the process crashes */
  fi
}
#endif

/* At the end, each property is a named verdict, so that pan's report names what failed. */
proctype Monitor() {
  bool notOneReport, messageLost, messageDuplicated, senderNotTold, staleMembership;
  byte m;
  timeout ->                          /* every other process has ended or blocks for good */
  d_step {
    /* exactly one cleanup reports, the other fails with ModuleNotFound (R-CLEAN-1, R-CLEAN-6) */
    notOneReport = !(reports == 1 && notFound == 1);
    m = 1;
    do
    :: m > K -> break
    :: m <= K ->
       /* every accepted message is received exactly once or reported exactly once (R-CLEAN-4) */
       messageLost = messageLost || received[m] + undelivered[m] < accepted[m];
       messageDuplicated = messageDuplicated || accepted[m] > 1 || received[m] + undelivered[m] > accepted[m];
       /* every send returned: OK exactly when the mailbox accepted the message, otherwise
          ModuleClosed or ModuleNotFound (R-CLEAN-3, R-SEND-1) */
       senderNotTold = senderNotTold || told[m] == NONE || told[m] == LOST || (told[m] == OK) != (accepted[m] == 1);
       m++
    od;
    /* the module is in no table and no group (R-CLEAN-2) */
    staleMembership = registered || inGroup[0] || inGroup[1]
  };
  assert(!sendOnClosedChannel);       /* Go: the panic was recovered and the message dropped */
  assert(!notOneReport);
  assert(!messageLost);
  assert(!messageDuplicated);
  assert(!senderNotTold);
  assert(!staleMembership)
}

init {
  atomic {
    if
    :: cap = 1
    :: cap = 2
    fi;
    inGroup[0] = true;
    inGroup[1] = true;
    run Sender();
    run Receiver();
    run Cleanup(1);
    run Cleanup(2);
    run Monitor()
  }
}
