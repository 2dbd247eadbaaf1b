typedef int px__placeholder_engine; /* written next */
