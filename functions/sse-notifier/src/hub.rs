//! One `LISTEN sluice_events` connection per process, fanning new events out to every
//! open stream of the process through a broadcast channel.
//!
//! On a notification the hub reads the rows after the last one it broadcast (one query
//! per burst, whatever the number of streams) and broadcasts them in id order. When its
//! connection is lost it reconnects with backoff and broadcasts [`HubSignal::Resync`]:
//! streams then re-read the table after their last id, so nothing announced while the
//! hub was away is missed.

use crate::store::{self, StoredEvent};
use sluice_core::{db, DbSettings};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// What a stream hears from the hub.
#[derive(Debug, Clone)]
pub enum HubSignal {
    /// A new event (every stream filters what its viewer may see).
    Event(Arc<StoredEvent>),
    /// Announcements may have been missed: read the table again.
    Resync,
}

/// The process's fan-out. Cloning it is cheap; the listener stops when the last clone is dropped.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    sender: broadcast::Sender<HubSignal>,
    listener: tokio::task::AbortHandle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// Rows read per query when catching up.
const READ_BATCH: i64 = 500;

impl Hub {
    /// Starts the listener on a connection of its own. `capacity` bounds how far a
    /// slow stream may fall behind before it is told it lagged (and re-reads the table).
    pub fn start(settings: DbSettings, capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(16));
        let listener = tokio::spawn(listen(settings, sender.clone())).abort_handle();
        Self {
            inner: Arc::new(Inner { sender, listener }),
        }
    }

    /// Subscribe before reading the table: whatever commits after the read is then heard.
    pub fn subscribe(&self) -> broadcast::Receiver<HubSignal> {
        self.inner.sender.subscribe()
    }

    /// Open streams (and waiting long-polls) of this process.
    pub fn listeners(&self) -> usize {
        self.inner.sender.receiver_count()
    }
}

async fn listen(settings: DbSettings, sender: broadcast::Sender<HubSignal>) {
    let mut delay = Duration::from_millis(200);
    loop {
        match listen_once(&settings, &sender).await {
            Ok(()) => {
                tracing::warn!("event listener's connection ended; reconnecting");
                delay = Duration::from_millis(200);
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "event listener lost its connection")
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

async fn listen_once(settings: &DbSettings, sender: &broadcast::Sender<HubSignal>) -> Result<(), db::DbError> {
    let (client, mut messages) = db::dedicated(settings).await?;
    client.batch_execute(&format!("LISTEN {}", store::CHANNEL)).await?;
    // Everything up to here is in the table; streams re-read it.
    let mut cursor = store::newest_id(&client).await?;
    let _ = sender.send(HubSignal::Resync);
    tracing::info!(cursor, "event listener connected");
    while let Some(message) = messages.recv().await {
        let tokio_postgres::AsyncMessage::Notification(note) = message else {
            continue;
        };
        let Ok(id) = note.payload().parse::<i64>() else {
            continue;
        };
        if id <= cursor {
            continue;
        }
        if sender.receiver_count() == 0 {
            // Nobody listens: ids commit in order, so everything up to `id` is in the table.
            cursor = id;
            continue;
        }
        loop {
            let rows = store::after_all(&client, cursor, READ_BATCH).await?;
            let full = rows.len() as i64 == READ_BATCH;
            for event in rows {
                cursor = event.id;
                let _ = sender.send(HubSignal::Event(Arc::new(event)));
            }
            if !full {
                break;
            }
        }
    }
    Ok(())
}
