//! Everything the inventory reads from a cluster: the bytes as a `List` (what `kubectl get ...
//! -o json` prints) into a snapshot, as one object, and as a watch event applied to that
//! snapshot; then the readers of the snapshot (owner resolution, the image-risk summary and
//! listing, the stored form) over whatever was accepted.
#![no_main]
use berth_inventory::risk::{self, ImageQuery, SummaryQuery};
use berth_inventory::{
    Cluster, ClusterSnapshot, Limits, ParseOptions, UnknownKinds, parse_object, parse_watch_event,
};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let options = ParseOptions {
        limits: Limits::default(),
        unknown_kinds: if data.first().is_some_and(|b| b & 1 == 1) {
            UnknownKinds::Skip
        } else {
            UnknownKinds::Reject
        },
    };
    let mut snapshot = match ClusterSnapshot::from_list_json(Cluster::default(), data, &options) {
        Ok(loaded) => loaded.snapshot,
        Err(_) => ClusterSnapshot::new(Cluster::default()),
    };
    let _ = parse_object(data, &options);
    if let Ok(Some(event)) = parse_watch_event(data, &options) {
        let before = snapshot.clone();
        if snapshot.apply(event, &options.limits).is_err() {
            assert_eq!(snapshot, before, "a failed event changed the snapshot");
        }
    }
    for pod in snapshot.pods() {
        let _ = snapshot.workload_of(pod).key();
    }
    let _ = snapshot.top_level_workloads().count();
    let risks = HashMap::new();
    let _ = risk::summarize([&snapshot], &SummaryQuery::default(), &risks);
    let _ = risk::running_images([&snapshot], &ImageQuery::default(), &risks);
    if let Ok(json) = serde_json::to_vec(&snapshot) {
        let back: ClusterSnapshot =
            serde_json::from_slice(&json).expect("a snapshot's stored form reads back");
        assert_eq!(back, snapshot);
    }
});
