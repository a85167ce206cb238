//! A power cut while maintenance windows are recorded and incidents open and close, simulated
//! by the `rendan-sqlite-powercut` VFS: every window and incident change the store acknowledged
//! (with its webhook notices) is on the disk after the reboot. With `synchronous=NORMAL` in WAL
//! mode a commit is not synced, and this test loses acknowledged writes.

use jiff::{SignedDuration, Timestamp};
use rendan_domain::NodeId;
use rendan_netwatch::maintenance::{Schedule, Scope, WindowSpec};
use rendan_netwatch::store::{NetwatchStore, RequestKey};
use rendan_netwatch::{Netwatch, NetwatchConfig};
use rendan_netwatch_sqlite::SqliteNetwatchStore;
use std::sync::{Arc, Mutex};

fn config() -> NetwatchConfig {
    let text = "[[node]]\nid = \"alpha\"\nname = \"Alpha\"\nregion = \"asia\"\nlat = 0.0\nlon = 0.0\n\
                availability_target = 99.7\nagent = \"127.0.0.1:9\"\n\n[netwatch]\nclasses = []\n";
    NetwatchConfig::from_topology(&rendan_topology::parse(text, "t").unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_windows_and_incidents_survive_a_power_cut() {
    let vfs = rendan_sqlite_powercut::register().expect("register the VFS");
    let dir = tempfile::tempdir().unwrap();
    let image = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteNetwatchStore::open_on_vfs(dir.path(), vfs)
            .await
            .unwrap(),
    );
    let nw = Netwatch::new(config(), store.clone()).await.unwrap();
    let node = NodeId::parse("alpha", "n").unwrap();
    let windows: Arc<Mutex<Vec<i64>>> = Arc::default();
    let incidents: Arc<Mutex<Vec<i64>>> = Arc::default();
    let (w, i) = (windows.clone(), incidents.clone());
    let (nw2, store2, node2) = (nw.clone(), store.clone(), node.clone());
    let far = Timestamp::now() + SignedDuration::from_hours(48);
    let writer = tokio::spawn(async move {
        for k in 0.. {
            let start = far + SignedDuration::from_mins(k);
            let spec = WindowSpec {
                scope: Scope::Node(node2.clone()),
                schedule: Schedule::OneOff {
                    start,
                    end: start + SignedDuration::from_mins(1),
                },
                note: format!("CHG-{k}"),
                emergency: false,
            };
            let key = RequestKey {
                principal: "ops".into(),
                key: format!("k{k}"),
                request: vec![],
            };
            // After the cut every write fails: stop at the first failure.
            let Ok(r) = nw2.create_window(spec, "ops", Some(key)).await else {
                return;
            };
            w.lock().unwrap().push(r.window.id);
            let at = Timestamp::now();
            let Ok(id) = store2
                .open_incident(&node2, at, &[], &["http://127.0.0.1:9/hook".into()])
                .await
            else {
                return;
            };
            if store2
                .update_incident(id, Some(at), &[], &["http://127.0.0.1:9/hook".into()])
                .await
                .is_err()
            {
                return;
            }
            i.lock().unwrap().push(id);
        }
    });
    while incidents.lock().unwrap().len() < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let files = rendan_sqlite_powercut::power_cut(dir.path(), image.path()).expect("power cut");
    assert!(!files.is_empty(), "the VFS tracked no file");
    writer.await.unwrap();
    let (windows, incidents) = (
        windows.lock().unwrap().clone(),
        incidents.lock().unwrap().clone(),
    );
    drop(nw);
    drop(store);

    // The reboot: the synced images, opened with the ordinary VFS.
    let after = SqliteNetwatchStore::open(image.path()).await.unwrap();
    let history = after.window_history().await.unwrap();
    for id in &windows {
        assert!(
            history.iter().any(|v| v.window == *id),
            "acknowledged window {id} was lost"
        );
    }
    let stored = after.incidents(None).await.unwrap();
    let notices = after.notices().await.unwrap();
    for id in &incidents {
        let inc = stored
            .iter()
            .find(|x| x.id == *id)
            .unwrap_or_else(|| panic!("acknowledged incident {id} was lost"));
        assert!(inc.closed_at.is_some(), "incident {id} lost its closing");
        let told = notices.iter().filter(|n| n.incident.id == *id).count();
        assert_eq!(told, 2, "incident {id}: its opening and closing notices");
    }
    assert!(windows.len() >= 40);
}
