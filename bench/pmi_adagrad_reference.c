// Su Jianlin's PMI trainer ("simpler GloVe") in plain C: the yardstick that
// bench/bench_pmi.py measures wordlens's numba trainer against.
//
// Written the way Su's published tool (a modified Stanford glove.c) does the work:
// double precision, GloVe's binary co-occurrence records (int word1, int word2,
// double value; ids from 1) read from a file, one pthread per contiguous slice
// updating the shared vectors without locks, target and weight computed per record.
// Per record (X_ij, i ≠ j):
//   t = log X_ij − log Z − log N_i − log N_j + 2 log N,  λ = min(X_ij/x_max, 1)^α
//   g_i = λ(⟨v_i,v_j⟩ − t) v_j,  G_i += g_i²,  v_i −= η g_i / sqrt(G_i + 1e-8)  (and j)
// G starts at 1, v ~ U(−0.5, 0.5)/d; an update that is not finite is skipped.
//
// usage: pmi_adagrad_reference RECORDS COUNTS OUT DIM EPOCHS THREADS [ETA X_MAX ALPHA]
//   RECORDS  shuffled GloVe records;  COUNTS  one unigram count per line, by id
//   OUT      vectors written as float64 (V, DIM), row-major
// Prints one line per epoch (loss, seconds) and records/s/thread of the training.

#define _FILE_OFFSET_BITS 64
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct { int word1, word2; double value; } Record;

static const char *records_path;
static long long records, vocab_size;
static int dim, threads;
static double eta = 0.1, x_max = 100.0, alpha = 0.75, log_z, log_n2;
static double *vectors, *squares, *log_counts, *losses;

static void *train_slice(void *argument) {
    long long thread = (long long)argument, per_thread = records / threads;
    long long first = thread * per_thread;
    long long count = thread == threads - 1 ? records - first : per_thread;
    double *update_i = malloc(sizeof(double) * dim), *update_j = malloc(sizeof(double) * dim);
    FILE *in = fopen(records_path, "rb");
    fseeko(in, first * (long long)sizeof(Record), SEEK_SET);
    Record r;
    losses[thread] = 0;
    for (long long n = 0; n < count && fread(&r, sizeof(Record), 1, in) == 1; n++) {
        double *v_i = vectors + (r.word1 - 1LL) * dim, *v_j = vectors + (r.word2 - 1LL) * dim;
        double *g_i = squares + (r.word1 - 1LL) * dim, *g_j = squares + (r.word2 - 1LL) * dim;
        double dot = 0;
        for (int k = 0; k < dim; k++) dot += v_i[k] * v_j[k];
        double diff = dot - (log(r.value) - log_z - log_counts[r.word1 - 1]
                             - log_counts[r.word2 - 1] + log_n2);
        double scaled = pow(fmin(r.value / x_max, 1.0), alpha) * diff;
        if (!isfinite(scaled)) continue;
        losses[thread] += scaled * diff;
        double check = 0;
        for (int k = 0; k < dim; k++) {
            double grad_i = scaled * v_j[k], grad_j = scaled * v_i[k];
            g_i[k] += grad_i * grad_i;
            g_j[k] += grad_j * grad_j;
            update_i[k] = eta * grad_i / sqrt(g_i[k] + 1e-8);
            update_j[k] = eta * grad_j / sqrt(g_j[k] + 1e-8);
            check += update_i[k] + update_j[k];
        }
        if (!isfinite(check)) continue;
        for (int k = 0; k < dim; k++) { v_i[k] -= update_i[k]; v_j[k] -= update_j[k]; }
    }
    fclose(in);
    free(update_i);
    free(update_j);
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s RECORDS COUNTS OUT DIM EPOCHS THREADS [ETA X_MAX ALPHA]\n", argv[0]);
        return 2;
    }
    records_path = argv[1];
    dim = atoi(argv[4]);
    int epochs = atoi(argv[5]);
    threads = atoi(argv[6]);
    if (argc > 9) { eta = atof(argv[7]); x_max = atof(argv[8]); alpha = atof(argv[9]); }

    FILE *in = fopen(argv[2], "r");
    if (!in) { perror(argv[2]); return 1; }
    long long capacity = 1 << 16, count;
    double total_words = 0;
    log_counts = malloc(sizeof(double) * capacity);
    while (fscanf(in, "%lld", &count) == 1) {
        if (vocab_size == capacity) log_counts = realloc(log_counts, sizeof(double) * (capacity *= 2));
        log_counts[vocab_size++] = log((double)count);
        total_words += count;
    }
    fclose(in);
    log_n2 = 2 * log(total_words);

    in = fopen(records_path, "rb");
    if (!in) { perror(records_path); return 1; }
    Record r;
    double total_pairs = 0;
    while (fread(&r, sizeof(Record), 1, in) == 1) { total_pairs += r.value; records++; }
    fclose(in);
    log_z = log(total_pairs);

    vectors = malloc(sizeof(double) * vocab_size * dim);
    squares = malloc(sizeof(double) * vocab_size * dim);
    srand(1);
    for (long long a = 0; a < vocab_size * dim; a++) {
        vectors[a] = (rand() / (double)RAND_MAX - 0.5) / dim;
        squares[a] = 1.0;
    }
    losses = malloc(sizeof(double) * threads);
    pthread_t *pool = malloc(sizeof(pthread_t) * threads);
    double training = 0;
    for (int epoch = 1; epoch <= epochs; epoch++) {
        double started = now(), loss = 0;
        for (long long t = 0; t < threads; t++) pthread_create(&pool[t], NULL, train_slice, (void *)t);
        for (int t = 0; t < threads; t++) pthread_join(pool[t], NULL);
        double seconds = now() - started;
        training += seconds;
        for (int t = 0; t < threads; t++) loss += losses[t];
        printf("epoch %d loss %.6f seconds %.3f\n", epoch, loss / records, seconds);
    }
    printf("records %lld records/s/thread %.0f\n", records, records * (double)epochs / training / threads);

    FILE *out = fopen(argv[3], "wb");
    if (!out) { perror(argv[3]); return 1; }
    fwrite(vectors, sizeof(double), vocab_size * dim, out);
    fclose(out);
    return 0;
}
