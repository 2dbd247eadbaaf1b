typedef int px__placeholder_db; /* written next */
