export { UserStore, createUsersAuthenticator } from './store.js';
export { loadUsersFile, saveUsersFile, DEFAULT_USERS_FILE, type LoadOptions } from './file.js';
export { validateUsersFile, type UsersFile, type UserRecord } from './schema.js';
export { hashPassword, verifyPassword, DEFAULT_SCRYPT, MAX_PASSWORD_BYTES, type ScryptParams } from './password.js';
export { addUser, setUserPassword, deleteUser, listUsers, type NewUser } from './manage.js';
