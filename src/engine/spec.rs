//! Model to engine: the request bodies that create networks, volumes and
//! containers for a stack, with berth's labels on each.
