//! Counters per department: the same columns as the topic and district
//! counters (so the three rates and the on-time rates), per day and month,
//! district and kind, under the department that holds the ticket: the one
//! named by its latest dispatch or 改派, or the lead department it was routed
//! to while it has not been dispatched. Written in the ticket's batch from
//! its contribution, like every counter, and recounted by `verify`; a
//! statistics query `by=department` reads them with the cost of any other.

use crate::counters::{contribution, CounterKey, Counts, Deadlines};
pub(crate) use crate::keys::{DEPT_DAY, DEPT_MONTH};
use crate::model::{EventBody, Ticket};
use crate::views::{counter_key, View};

/// The department a ticket's outcome counts for.
pub fn department_of(ticket: &Ticket) -> &str {
    ticket
        .events
        .iter()
        .rev()
        .find_map(|e| match &e.body {
            EventBody::Dispatched { department } | EventBody::Reassigned { department, .. } => {
                Some(department.as_str())
            }
            _ => None,
        })
        .unwrap_or(ticket.department.as_str())
}

/// The department rows a ticket's counts go to (its day and its month),
/// with the counts: the topic slot of the key holds the department.
pub(crate) fn rows(ticket: &Ticket, deadlines: &Deadlines) -> [(Vec<u8>, CounterKey, Counts); 2] {
    let (mut ck, counts) = contribution(ticket, deadlines);
    ck.topic = department_of(ticket).to_owned();
    ck.street.clear();
    let month = ck.month();
    [
        (counter_key(DEPT_DAY, View::Full, &ck), ck, counts),
        (counter_key(DEPT_MONTH, View::Full, &month), month, counts),
    ]
}
