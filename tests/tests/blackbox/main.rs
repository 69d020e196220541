//! Black-box tests against the local stack. One binary, so the stack starts once.

mod fixtures;
mod gateway;
mod health;
mod template;
