//! The routes of the two origins, each behind the server's `Handler`: the
//! API (`/2/compliance/jobs` and, in the `api` flavour, its token URLs) and
//! the storage origin of the `gcs` flavour. They turn requests into calls
//! on the model and its answers into responses.

pub(crate) mod api;
pub(crate) mod storage;
