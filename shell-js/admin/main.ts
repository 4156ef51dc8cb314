// The admin page: its UI lands in the next commit.
export {};
